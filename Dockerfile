# One image for the five services; the command names the service module:
#   docker run IMAGE agentdeck.planner.main
# Build: docker build -t agentdeck:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python -m venv /opt/agentdeck \
    && /opt/agentdeck/bin/pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY libs ./libs
COPY services ./services
COPY apps ./apps
# A wheel, not an editable install: the runtime stage gets no source tree.
RUN /opt/agentdeck/bin/pip install --no-cache-dir . \
    && find /opt/agentdeck -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="agentdeck" \
      org.opencontainers.image.description="agentdeck services: planner, policy-checker, approval, tool-executor, telemetry" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 agentdeck \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/agentdeck \
        --shell /usr/sbin/nologin agentdeck \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/agentdeck
COPY --from=build /opt/agentdeck /opt/agentdeck
ENV PATH=/opt/agentdeck/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AGENTDECK_DATA_DIR=/var/lib/agentdeck \
    AGENTDECK_HEALTH_PORT=8080
WORKDIR /var/lib/agentdeck
USER 10001:10001
EXPOSE 8080
# Liveness only: readiness (/readyz) is the orchestrator's business.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['AGENTDECK_HEALTH_PORT'], timeout=2)"]
ENTRYPOINT ["python", "-m"]
CMD ["agentdeck.planner.main"]
