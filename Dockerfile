# Riposte: one image for API processes (`serve`), workers (`worker`) and the migration job (`db migrate`).
# Runs from source on Node.js 24 (type stripping: no build step). See docs/deployment.md.
# Written to the documented conventions; not built on the machine it was written on.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked; no native builds are needed.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# The web UI: built by Vite (a dev dependency) in its own stage; only ui/dist reaches the image.
FROM node:24-bookworm-slim AS ui
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm cache clean --force
COPY ui ./ui
COPY scripts/build-ui.ts ./scripts/build-ui.ts
RUN node scripts/build-ui.ts

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    RIPOSTE_HOST=0.0.0.0 \
    RIPOSTE_PORT=8088 \
    RIPOSTE_DATA_DIR=/var/lib/riposte \
    RIPOSTE_PLAYBOOKS_DIR=/app/playbooks
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json riposte ./
COPY src ./src
COPY playbooks ./playbooks
COPY data ./data
COPY schemas ./schemas
COPY --from=ui /app/ui/dist ./ui/dist
RUN mkdir -p /var/lib/riposte && chown node:node /var/lib/riposte
USER node
EXPOSE 8088 9464
# The API's liveness; workers override it in compose.yaml with their --health-port listener.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RIPOSTE_PORT||8088)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form): serve drains requests, worker finishes steps and hands leases back.
ENTRYPOINT ["node", "./riposte"]
CMD ["serve"]
