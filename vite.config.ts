// Renderer build: Svelte 5 app in renderer/, emitted to dist/renderer with relative asset
// paths so the same files load from file:// / a custom protocol (Electron) and from the
// local HTTP server (`npm run serve`, browser tests).
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [svelte()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // Everything local: no CDN, no inline scripts (CSP-friendly), one small bundle.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
  server: { port: 5173, strictPort: false },
});
