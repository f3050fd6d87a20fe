-- title: 'Cross-account: format lift'
-- description: Each format's average day-7 views (TikTok) or likes (Instagram, which publishes no views for carousels) divided by the account's own average (lift; 1.0 = the account's usual), next to the mean lift over all accounts, so big and small accounts compare fairly.
-- fragment: g.mark=circle&g.x_column=format&g.x_type=ordinal&g.y_column=lift&g.y_type=quantitative&g.color_column=series
with d7 as (select account_name, platform, format, case platform when 'tiktok' then views else likes end as metric
            from v_post_day7 where (case platform when 'tiktok' then views else likes end) > 0),
base as (select account_name, platform, avg(metric) as account_avg from d7 group by account_name, platform),
lift as (select d7.account_name, d7.platform, d7.format, count(*) as posts,
                avg(d7.metric) / base.account_avg as lift
         from d7 join base on base.account_name = d7.account_name and base.platform = d7.platform
         where d7.format is not null
         group by d7.account_name, d7.platform, d7.format)
select l.account_name, l.platform, l.account_name || ' ' || l.platform as series, l.format, l.posts, round(l.lift, 2) as lift,
       (select round(avg(o.lift), 2) from lift o where o.platform = l.platform and o.format = l.format)
         as lift_all_accounts,
       (select count(*) from lift o where o.platform = l.platform and o.format = l.format) as accounts
from lift l
where :account = '' or l.account_name = :account
order by l.account_name, l.platform, l.lift desc
