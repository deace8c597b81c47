# Highway traffic SOAP service: a slim, non-root image.
#   docker build -t highway-traffic .
#   docker run -d --name highway -p 8080:8080 -v highway-data:/var/lib/highway highway-traffic \
#       --public-url https://traffic.example.com/soap
# Arguments after the image name are added to `highway-server serve --host 0.0.0.0` (see CMD).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the installed package needs (see .dockerignore); lxml and xmlsec come as wheels
# built against the same libxml2, so no compiler or -dev packages are needed.
COPY setup.cfg setup.py MANIFEST.in pyproject.toml README.md ./
COPY soap_service ./soap_service
COPY client ./client
COPY wsdl ./wsdl
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/highway \
       --shell /usr/sbin/nologin highway \
    && mkdir -p /var/lib/highway \
    && chown highway:highway /var/lib/highway \
    && rm -rf /src

WORKDIR /var/lib/highway
USER highway
# The SQLite database (WAL files beside it) and the digest-secret key file live here.
VOLUME ["/var/lib/highway"]
EXPOSE 8080

# Ready = the database (and Redis, when configured) answers; plain HTTP on the container port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status == 200 else 1)"]

# SIGTERM (docker stop) drains in-flight requests for --shutdown-grace seconds, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["highway-server", "serve", "--host", "0.0.0.0"]
CMD ["--port", "8080", "--db", "/var/lib/highway/highway.db"]
