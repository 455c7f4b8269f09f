FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# dist/ is built already and TypeScript is not in the image: `npm run migrate`,
# `npm run dead-letters` and `npm start` run what they name, without their
# pre-scripts (which build from src/ on a developer's machine).
ENV npm_config_ignore_scripts=true
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY lua ./lua
USER node
EXPOSE 5000
CMD ["node", "dist/main.js"]
