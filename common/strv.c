/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.c - NULL-terminated string vectors */
#include "common/macro.h"

char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;

	if (l)
		while (l[n])
			n++;
	return n;
}

int strv_push(char ***l, char *value)
{
	size_t n = strv_length(*l);
	char **c;

	c = reallocarray(*l, n + 2, sizeof(char *));
	if (!c) {
		free(value);
		return -ENOMEM;
	}
	c[n] = value;
	c[n + 1] = NULL;
	*l = c;
	return 0;
}

int strv_extend(char ***l, const char *value)
{
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	return strv_push(l, v);
}

bool strv_contains(char *const *l, const char *value)
{
	if (l)
		for (char *const *i = l; *i; i++)
			if (streq(*i, value))
				return true;
	return false;
}
