"""The scaled-out stack on loopback (DESIGN.md §9), driven by deploy/stack.py.

settings   every setting (environment variable and default), the stack's folders and env
processes  pid files, starting and stopping process groups, bounded waits
servers    PostgreSQL, Redis and the moto S3 server
dagster_processes  the instance files, webserver, daemon, Celery workers and their health
preflight  each external dependency answers with the configured settings
lifecycle  up, down, status
install    the Debian packages and the `stack` extra
"""
