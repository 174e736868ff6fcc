#include <stdio.h>

int main(void)
{
	undeclared_function_call(42)
	return 0;
}
