/* pxecast import: recognise an installation ISO, hash it, write its
 * [image] and [profile] config (appliance/import.c). */
#ifndef PXECAST_APPLIANCE_IMPORT_H
#define PXECAST_APPLIANCE_IMPORT_H

/* argv[0] is "import". Returns the process exit status. */
int import_main(int argc, char **argv);

#endif
