/* The greeting motd prints: built into motd from the repo's greet-devel. */
#define GREET_TEXT "Greetings from the build tag's repo!"
