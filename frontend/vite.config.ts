import { defineConfig } from "vite";

// The bundle is committed in src/unlearnlab/server/static/ and CI rebuilds it and fails if it
// differs: keep the output deterministic (content hashes, no timestamps, no source maps).
export default defineConfig({
  base: "./",
  publicDir: "public",
  esbuild: { jsx: "automatic", jsxImportSource: "preact", legalComments: "none" },
  build: {
    outDir: "../src/unlearnlab/server/static",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    modulePreload: false,
    reportCompressedSize: false,
    assetsInlineLimit: 0,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    // `npm run dev` against `unlearnlab serve --port 8765`
    proxy: { "/api": { target: "http://127.0.0.1:8765", changeOrigin: false } },
  },
});
