-- title: Pending recommendations
-- description: Proposals waiting in recommendations/pending/; approve with git mv into approved/ (or make review).
select account_name, confidence, category, insight, finding_id, file
from recommendations
where status = 'pending' and (:account = '' or account_name = :account)
order by account_name, case confidence when 'high' then 0 when 'medium' then 1 else 2 end, id
