"""What the agenda, digest, roundup and progress messages say, built from live data.

Both `flows/` (a person asks: `agenda`, `digest`) and `scheduler/` (a job fires) use these;
they only read (nothing is sent or stamped here) and render `bot/templates/<name>.j2`. A
template may set its message title with `{% set title = "..." %}` at top level.

    bot.content.agenda.build_agenda(session, team, now)          the standing agenda
    bot.content.digest.build_digest(session, team, now)          the weekly digest
    bot.content.recognition.build_roundup(session, team, now)    the week's recognition
    bot.content.recognition.build_progress(session, team, now)   where the program stands
"""
