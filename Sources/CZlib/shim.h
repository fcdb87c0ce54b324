// zlib, for gunzipping CloudTrail's log files (Debian: zlib1g-dev).
#include <zlib.h>
