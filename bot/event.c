/* bot/event.c — placeholder until the module lands. */
