/* bot.c — placeholder. */
