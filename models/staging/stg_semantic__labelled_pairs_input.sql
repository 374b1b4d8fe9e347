{#- One row per labelled pair of the input `labelled_pairs` as the team gave it (none: no rows), with
    its split (given, or by a hash of group_id, else of the pair: 70 % train, 15 % valid, 15 % test) and
    the pair's key as the decision log keys it (key_left, key_right: a duplicate pair is unordered).
    stg_semantic__labelled_pairs adds the reviewers' decisions; fct_label_conflicts reads both. -#}
{%- set c = semantic_input_columns('labelled_pairs') %}

with source as (
    select * from {{ semantic_input_source('labelled_pairs') }}
),

renamed as (
    select
        trim(cast({{ c.get('left_id', 'null') }} as varchar)) as left_id,
        trim(cast({{ c.get('right_id', 'null') }} as varchar)) as right_id,
        {{ normalize_text('cast(' ~ c.get('text_a', 'null') ~ ' as varchar)') }} as text_a,
        {{ normalize_text('cast(' ~ c.get('text_b', 'null') ~ ' as varchar)') }} as text_b,
        lower(trim(cast({{ c.get('task', 'null') }} as varchar))) as task,
        coalesce(lower(trim(cast({{ c.get('kind', 'null') }} as varchar))), 'labelled') as kind,
        {%- if c.get('label') %}
        cast(try_cast(trim(cast({{ c.label }} as varchar)) as boolean) as integer) as label,
        {%- else %}
        cast(null as integer) as label,
        {%- endif %}
        lower(trim(cast({{ c.get('split', 'null') }} as varchar))) as split,
        trim(cast({{ c.get('group_id', 'null') }} as varchar)) as group_id
    from source
),

from_input as (
    select
        left_id,
        right_id,
        text_a,
        text_b,
        task,
        kind,
        label,
        coalesce(split, case
            when hash(coalesce(group_id, concat_ws('|', task, left_id, right_id, text_a, text_b))) % 100 < 70 then 'train'
            when hash(coalesce(group_id, concat_ws('|', task, left_id, right_id, text_a, text_b))) % 100 < 85 then 'valid'
            else 'test'
        end) as split,
        group_id,
        -- the pair as the decision log keys it: a duplicate pair is unordered
        if(task = 'duplicate', least(left_id, right_id), left_id) as key_left,
        if(task = 'duplicate', greatest(left_id, right_id), right_id) as key_right
    from renamed
)

select * from from_input
-- a side naming an asset `semantic forget` erased drops the pair (brief_match: (brief, asset); lookalike:
-- (asset, reference); duplicate: two assets)
where case task
    when 'brief_match' then {{ semantic_not_forgotten('right_id') }}
    when 'lookalike' then {{ semantic_not_forgotten('left_id') }}
    else {{ semantic_not_forgotten('left_id') }} and {{ semantic_not_forgotten('right_id') }}
end
