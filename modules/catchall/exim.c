/*
 * exim.c - the catchall module's dlfunc entry points (skeleton: answers accept).
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include "exim_glue.h"

/* moat_catchall_check - CONFIG [ARGS...]: placeholder until the module lands */
MOAT_EXPORT int moat_catchall_check(uschar **yield, int argc, uschar *argv[])
{
    moat_call call;

    if (moat_call_begin(&call, "catchall", "moat_catchall_check", yield, argc, argv, 1, 8,
                        "CONFIG [ARGS...]") == MOAT_CALL_RUN)
        verdict_init(&call.verdict, "accept");
    return moat_call_end(&call, yield);
}
