"""Scheduled messages: standing agendas, digests, nudges, follow-ups, recognition, progress.

See docs/scheduler.md. Entry points: `scheduler.api.run_job_now` (run a job for a team now),
`scheduler.service.SchedulerService` (the APScheduler service a server runs), `scheduler.cli`.
"""
