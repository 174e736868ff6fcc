#include <stdio.h>

int main(void)
{
	puts("Hello from kojigo!");
	return 0;
}
