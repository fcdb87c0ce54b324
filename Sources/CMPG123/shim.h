// libmpg123, to decode MP3 recordings for the quality check (Debian: libmpg123-dev). Only the
// feed API is used (recops reads the file itself), so the large-file name mangling of
// mpg123_open and friends never matters.
#define MPG123_NO_LARGENAME
#include <mpg123.h>
