import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev -w @relaybase/console` with `npm start` running: the page on Vite's dev
// server, the API proxied to the control plane.
const controlPlane = process.env.RB_CONTROL_PLANE_URL ?? "http://localhost:4000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", target: "es2022", sourcemap: false, reportCompressedSize: true },
  server: { proxy: { "/trpc": controlPlane, "/console-config.json": controlPlane } },
});
