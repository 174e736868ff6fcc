#include <stdio.h>
#include <greet.h>

int main(void)
{
	puts(GREET_TEXT);
	return 0;
}
