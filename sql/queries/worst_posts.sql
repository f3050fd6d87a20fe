-- title: 'Failures: the worst posts at day 7'
-- description: The ten weakest posts per account and platform at day 7, ranked by the metric the platform publishes for every post (TikTok views, Instagram likes).
select account_name, platform, replace(substr(published_local, 1, 16), 'T', ' ') as published, format, content_pillar,
       hook_style, slide_count, views as views_d7, likes as likes_d7,
       round(100 * engagement_rate, 2) as engagement_pct_d7, hook_text, post_url
from (select *, row_number() over (partition by account_name, platform
                order by case platform when 'tiktok' then views else likes end) as rank
      from v_post_day7
      where (case platform when 'tiktok' then views else likes end) is not null
        and (:account = '' or account_name = :account))
where rank <= 10
order by account_name, platform, rank
