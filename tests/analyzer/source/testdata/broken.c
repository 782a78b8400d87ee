/* Does not compile: the front end reports it and goes on with the other translation units. */
int broken(void) { return undeclared_thing; }
