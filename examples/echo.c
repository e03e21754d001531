/* Placeholder: replaced by the cross-language echo example. */
int main(void) { return 0; }
