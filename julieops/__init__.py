"""JulieOps. The Celery app lives in julieops.celery; Django loads it when the apps are ready
(migrations_app.apps), so the plain libraries below (mirror, remote, julietree) import fast."""
