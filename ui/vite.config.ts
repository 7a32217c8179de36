import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The analysts' web UI. `npm run build:ui` writes ui/dist, which `riposte serve` serves at `/` under a
 * strict CSP (no inline scripts): keep the module-preload polyfill out of index.html and never inline assets
 * as scripts. `npm run dev:ui` proxies /api to a running `riposte serve` on :8088.
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8088' } },
});
