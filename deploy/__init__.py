"""Production deployment: gunicorn settings and logging, container build, AWS template."""
