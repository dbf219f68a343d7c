import { defineConfig } from 'vite';

// The API lives under /api on the same origin; in dev and preview it is proxied to a local stack.
const api = { '/api': { target: process.env.API_TARGET || 'http://127.0.0.1:8080', changeOrigin: false } };

export default defineConfig({
  server: { proxy: api },
  preview: { proxy: api },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 600 },
  test: { include: ['src/**/*.test.js'] },
});
