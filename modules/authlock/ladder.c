/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ladder.c - tarpit delays and block policies from the authlock section.
 */
#include "ladder.h"

#include "config.h"

long ladder_tarpit(cfg_t *sec, uint64_t failures)
{
    long after = moat_cfg_int(sec, "tarpit_after"), max = moat_cfg_int(sec, "tarpit_max");
    long delay = moat_cfg_int(sec, "tarpit_base");
    uint64_t step;

    if (failures < (uint64_t)after || delay <= 0)
        return 0;
    for (step = (uint64_t)after; step < failures && delay < max; step++)
        delay *= 2;
    return delay < max ? delay : max;
}

block_policy ladder_client_policy(cfg_t *sec)
{
    block_policy p = {moat_cfg_int(sec, "block_time"), moat_cfg_int(sec, "block_max"),
                      moat_cfg_int(sec, "repeat_window"), moat_cfg_int(sec, "repeat_after"),
                      moat_cfg_int(sec, "repeat_block")};
    return p;
}

block_policy ladder_user_policy(cfg_t *sec)
{
    /* No repeat-offender stage for users: their lock only ever covers the
     * locations they are attacked from, and a week-long lock of the real
     * user's roaming phone would be the attacker's win. */
    block_policy p = {moat_cfg_int(sec, "user_lock_time"), moat_cfg_int(sec, "block_max"),
                      moat_cfg_int(sec, "repeat_window"), 0, 0};
    return p;
}
