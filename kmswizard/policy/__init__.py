"""The pure policy core: no AWS SDK, no UI. Everything here is a function of its inputs."""
