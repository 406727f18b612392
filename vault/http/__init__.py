"""HTTP layer: controllers, authentication, problem details."""
