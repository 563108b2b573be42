"""Self-signed certificates for the test servers: they live in `training.certs` (the training
practice's simulator makes its own); re-exported here."""

from training.certs import self_signed_certificate  # noqa: F401
