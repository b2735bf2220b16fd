-- 0170_assumptions_view: the electricity assumptions behind node_profitability_monthly,
-- readable by analysts and the API (core.assumptions is not). The refresh mirrors them
-- from the config's [[assumptions]] (a '*' row of 450 W at 0.15 USD/kWh when the config
-- has none), so this view shows what the profitability figures were computed with once
-- the refresh after a change has run.

create view analytics.assumptions as
select network, watts, usd_per_kwh
from core.assumptions;

comment on view analytics.assumptions is
    'Electricity assumptions of node_profitability_monthly, from the config''s [[assumptions]]: a node online for a day draws watts for 24 h at usd_per_kwh. A network without its own row takes the ''*'' row.';
comment on column analytics.assumptions.network is 'Network, as named by the labels, or ''*'': the default for every network without its own row.';
comment on column analytics.assumptions.watts is 'Power a node draws, in watts, all day on every day it is online (exact).';
comment on column analytics.assumptions.usd_per_kwh is 'Electricity price in USD per kWh (exact).';

grant select on analytics.assumptions to depin_reader, depin_analyst;
