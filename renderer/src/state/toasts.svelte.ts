// Owns the toasts: short error notes in the corner (at most four, each gone after 12 s). Every
// store reports a failed call here; a cancelled operation is not an error and makes no toast.
import { toUiError, type UiError } from '../lib/format.ts';

export interface Toast extends Omit<UiError, 'code'> {
  /** An error's code, or 'notice' for a note of what an action did. */
  code: UiError['code'] | 'notice';
  id: number;
  /** 'notice': what an action just did (not an error), with an optional button (Undo). */
  kind?: 'notice';
  action?: { label: string; run: () => void };
}

class Toasts {
  list = $state<Toast[]>([]);
  private seq = 0;

  show(err: unknown, context?: string): void {
    const e = toUiError(err, context);
    if (e.code === 'cancelled') return;
    const id = ++this.seq;
    this.list = [...this.list.slice(-3), { ...e, id }];
    setTimeout(() => this.dismiss(id), 12_000);
  }

  /** Says what an action did ("Rejected 12 · Undo"); gone after 12 s or when replaced by the next. */
  notice(message: string, hint = '', action?: Toast['action']): void {
    const id = ++this.seq;
    this.list = [...this.list.filter((t) => t.kind !== 'notice').slice(-3), { code: 'notice', message, hint, id, kind: 'notice', action } satisfies Toast];
    setTimeout(() => this.dismiss(id), 12_000);
  }

  dismiss(id: number): void {
    this.list = this.list.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
