// Owns what the analyzers judged, as the window needs it: which photos are out of focus or have
// closed eyes (the "Out of focus" / "Closed eyes" filters: the library decides, api.problems), and
// one photo's focus map and faces (api.focusMap, api.photoFaces) for the loupe, the survey's cells and
// the faces view.
// Re-read when the library changes (indexing measures new photos) and each time a filter is turned on.
import type { FocusMapInfo, PhotoFaces, PhotoProblems } from '../../../common/types.ts';
import type { IssueFilter, IssueSets } from '../lib/sort-filter.ts';
import { session } from './session.svelte.ts';
import { toasts } from './toasts.svelte.ts';

class Judged {
  problems = $state.raw<PhotoProblems | null>(null);
  /** Bumped when the library changed: the loupe re-reads its photo's focus map and faces. */
  version = $state(0);

  /** The focus below which a photo counts as out of focus (the library's one threshold; its default until known). */
  below = $derived(this.problems?.outOfFocusBelow ?? 0.45);

  sets: IssueSets = $derived(this.problems ? { outOfFocus: new Set(this.problems.outOfFocus), closedEyes: new Set(this.problems.closedEyes) } : null);

  async loadProblems(): Promise<void> {
    try {
      this.problems = await session.api.problems();
    } catch (err) {
      toasts.show(err, 'Cannot tell which photos are out of focus or have closed eyes');
    }
  }

  /** After indexing or any library change. */
  async refresh(): Promise<void> {
    this.version++;
    await this.loadProblems();
  }

  /** What an issue filter left empty means, in words (nothing flawed, or nothing judged yet). */
  emptyNote(issue: IssueFilter): string | null {
    const p = this.problems;
    if (issue === 'any' || !p) return null;
    if (issue === 'outOfFocus') {
      return p.focusMeasured
        ? `None of the ${p.focusMeasured} measured photos is out of focus (focus below ${p.outOfFocusBelow}).`
        : 'Focus is not measured yet: index the library to measure it.';
    }
    return p.facesMeasured ? `No closed eyes in the ${p.facesMeasured} photos looked at for faces.` : 'Faces are not looked at yet: index the library to find them.';
  }

  focusMap(id: number): Promise<FocusMapInfo | null> {
    return session.api.focusMap(id);
  }

  faces(id: number): Promise<PhotoFaces> {
    return session.api.photoFaces({ id });
  }
}

export const judged = new Judged();
