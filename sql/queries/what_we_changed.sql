-- title: 'Follow-ups: what we changed, and what happened'
-- description: Every applied recommendation with its follow-up (docs/followups.md). The effect is the lever's posts against the account's other posts made since the change, other levers held equal; before/after is not randomised, so a verdict is at most medium confidence.
select account_name, applied_at, recommendation, category, platform, lever, direction, metric, status,
       confidence, posts_before, posts_after, posts_needed, round(effect, 2) as effect,
       round(ci_low, 2) as ci_low, round(ci_high, 2) as ci_high, control, reverted_by, claim
from followups
where :account = '' or account_name = :account
order by account_name, applied_at, recommendation
