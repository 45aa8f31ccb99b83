// stb_image_resize, compiled from Debian's libstb-dev header into the fuzz build so the sanitizers
// see inside it (the main build links Debian's compiled libstb).
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
