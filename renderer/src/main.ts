// Renderer entry: picks the CullApi transport (Electron IPC or HTTP, decided by ./api) and
// mounts the app. The mock API exists only in `vite dev` with ?mock in the URL.
import { mount } from 'svelte';
import { takeTokenFromLocation } from './api/http.ts';
import type { CullApi } from '../../common/api-types.ts';
import App from './App.svelte';
import { session } from './state/session.svelte.ts';
import './app.css';

// First thing: the `npm run serve` token leaves the address bar and history (kept in memory only).
if (typeof window !== 'undefined' && !window.cull) takeTokenFromLocation();

async function chooseApi(): Promise<CullApi> {
  if (import.meta.env.DEV) {
    const mock = new URLSearchParams(location.search).get('mock');
    if (mock !== null) {
      const { createMockApi } = await import('./dev/mock-api.ts');
      return createMockApi(Number(mock) || 2000);
    }
  }
  const { api } = await import('./api/index.ts');
  return api;
}

mount(App, { target: document.getElementById('app')! });
chooseApi().then(
  (api) => session.init(api),
  (err: unknown) => {
    session.fatal = { code: 'internal', message: `Cannot connect to Cull: ${err instanceof Error ? err.message : String(err)}`, hint: 'Reload the page; if you use the browser, check that `npm run serve` is running.' };
  },
);
