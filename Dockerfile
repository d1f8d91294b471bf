FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV BRAID_DATA_DIR=/var/lib/braid
CMD ["./bin/braid", "worker"]
