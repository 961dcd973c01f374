# Gossamer node image. Sources run through tsx (no build step), so the image is the
# repository's bin/ and src/ plus production dependencies.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# Kong's default prefix layout, owned by the unprivileged user the node runs as.
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
    && mkdir -p /usr/local/gossamer \
    && chown node:node /usr/local/gossamer

USER node

# proxy, Admin API, cluster (libp2p)
EXPOSE 8000 8001 8005
STOPSIGNAL SIGTERM

ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["start"]
