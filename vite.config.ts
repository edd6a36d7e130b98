import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

/**
 * Two builds from one config:
 * - `vite build` (default): the page in web/, into dist/web; Node peers serve it at `/`.
 * - `vite build --mode lib`: the browser entry of the library (src/browser/index.ts), into dist/browser.
 * Neither pulls Node shims in: src/core uses web standards only.
 */
export default defineConfig(({ mode }) => {
  if (mode === 'lib') {
    return {
      build: {
        outDir: 'dist/browser',
        emptyOutDir: true,
        sourcemap: true,
        lib: { entry: fileURLToPath(new URL('./src/browser/index.ts', import.meta.url)), formats: ['es'], fileName: 'wspeer' },
        rollupOptions: { external: [] },
      },
    }
  }
  return {
    root: 'web',
    build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: true },
    server: { port: 5173 },
  }
})
