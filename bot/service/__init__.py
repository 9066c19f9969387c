"""The running service: jobs, routing, queues, workers, scheduler, server, metrics, settings."""
