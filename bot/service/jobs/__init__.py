"""The job functions, a module per concern, each registered by name with @job;
bot.service.jobs.all imports every one (so the registry is full where jobs are run)."""
