-- title: 'Growth curves: long tail or spike'
-- description: Average views at days 1, 7 and 30 by format, for posts seen at both day 7 and day 30. growth_d7_to_d30 is the mean of each post's day-30 / day-7 views; well above 1 means a long tail.
-- fragment: g.mark=circle&g.x_column=format&g.x_type=ordinal&g.y_column=growth_d7_to_d30&g.y_type=quantitative&g.color_column=series
with curve as (
  select account_name, platform, post_id,
         max(case when age_day = 1 then views end) as d1,
         max(case when age_day = 7 then views end) as d7,
         max(case when age_day = 30 then views end) as d30
  from v_metrics_at_age
  where :account = '' or account_name = :account
  group by account_name, platform, post_id)
select c.account_name, c.platform, c.account_name || ' ' || c.platform as series, p.format, count(*) as posts,
       cast(round(avg(c.d1)) as int) as avg_views_d1, cast(round(avg(c.d7)) as int) as avg_views_d7,
       cast(round(avg(c.d30)) as int) as avg_views_d30,
       round(avg(1.0 * c.d30 / c.d7), 2) as growth_d7_to_d30
from curve c join posts p on p.post_id = c.post_id
where c.d7 > 0 and c.d30 is not null
group by c.account_name, c.platform, p.format
order by c.account_name, c.platform, growth_d7_to_d30 desc
