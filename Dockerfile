# syntax=docker/dockerfile:1
# Node 20 is past its end of life: the image runs Node 22; the code runs on both.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY config ./config
COPY policy ./policy
COPY adapters ./adapters
COPY gateway ./gateway
RUN npm run build

FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-slim
ENV NODE_ENV=production PORT=8080 DATABASE_URL=file:/data/warden.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Migrations sit where the compiled store looks for them (dist/migrations, beside dist/gateway).
COPY migrations ./dist/migrations
COPY package.json ./
# The `warden` launcher (npm bin): finds dist/gateway/cli.js two levels up.
COPY gateway/bin ./gateway/bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/gateway/main.js"]
