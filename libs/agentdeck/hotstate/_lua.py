"""Lua run inside Redis, where each script executes atomically in one round trip."""

from __future__ import annotations

__all__ = ["SLIDING_WINDOW_HIT"]

# A sliding-window log: one sorted-set member per allowed hit, scored by the
# server's clock in microseconds, so every replica of a service judges hits by
# the same time. Members are unique tokens from the caller, so two hits in the
# same microsecond are still two hits. A denied hit is not recorded.
#
# KEYS[1]: the window's sorted set.
# ARGV[1]: limit; ARGV[2]: window in microseconds; ARGV[3]: a unique member.
# Returns {allowed (0/1), hits in the window, microseconds until a hit fits}.
SLIDING_WINDOW_HIT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, count + 1, 0}
end
local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, count, tonumber(blocking[2]) + window - now}
"""
