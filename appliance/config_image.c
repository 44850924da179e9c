/* The [image NAME] sections of pxecast.conf:
 *
 *   [image alma9]
 *   path = /srv/iso/AlmaLinux-9.4-x86_64-dvd.iso
 *   digests = /var/lib/pxecast/alma9.sha256   # optional; default PATH.sha256
 *
 * Each ISO is served in place under images/NAME/ (imager/image.h). The
 * config only records names and paths; the daemon opens the images.
 */
#include "appliance/config_private.h"

#include "imager/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGES_MAX 256

struct config_image {
	char name[IMAGE_NAME_MAX + 1];
	char path[PATH_MAX];
	char digests[PATH_MAX];
};

struct config_images {
	struct config_image *v;
	size_t n;
};

void config_image_free(struct config_images *im)
{
	if (im == NULL)
		return;
	free(im->v);
	free(im);
}

static const char *open_image(struct config *c, const char *arg)
{
	struct config_image *grown;

	if (!image_name_valid(arg))
		return "expected a name of letters, digits, '.', '-' or '_' (at most 63)";
	if (c->images == NULL && (c->images = calloc(1, sizeof(*c->images))) == NULL)
		return "out of memory";
	for (size_t i = 0; i < c->images->n; i++)
		if (!strcmp(c->images->v[i].name, arg))
			return "defined twice";
	if (c->images->n >= IMAGES_MAX)
		return "too many images";
	grown = realloc(c->images->v, (c->images->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return "out of memory";
	c->images->v = grown;
	memset(&grown[c->images->n], 0, sizeof(*grown));
	snprintf(grown[c->images->n].name, sizeof(grown->name), "%s", arg);
	c->images->n++;
	return NULL;
}

static const char *set_image(struct config *c, const char *key, const char *v)
{
	struct config_image *im = &c->images->v[c->images->n - 1];

	if (!strcmp(key, "path"))
		return *v ? config_value_path(v, im->path) : "expected an absolute path";
	if (!strcmp(key, "digests"))
		return config_value_path(v, im->digests);
	return "unknown key";
}

const struct config_section config_image_sections[] = {
	{ "image", open_image, set_image },
};
const size_t config_image_nsections = sizeof(config_image_sections) / sizeof(config_image_sections[0]);

int config_image_validate(const struct config_images *im, char *err, size_t errlen)
{
	for (size_t i = 0; im && i < im->n; i++)
		if (!im->v[i].path[0]) {
			snprintf(err, errlen, "[image %s] path: required", im->v[i].name);
			return -1;
		}
	return 0;
}

struct image_set *config_images_open(const struct config *c, char *err, size_t errlen)
{
	struct image_set *set = image_set_new();

	if (set == NULL) {
		snprintf(err, errlen, "images: out of memory");
		return NULL;
	}
	for (size_t i = 0; c->images && i < c->images->n; i++) {
		const struct config_image *im = &c->images->v[i];

		if (image_set_add(set, im->name, im->path, im->digests, err, errlen) < 0) {
			image_set_free(set);
			return NULL;
		}
	}
	return set;
}
