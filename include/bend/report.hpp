#pragma once
// The API of bend's reporting library (target bend::report, built on bend::bend): SVG charts, HTML
// pages, and the experiments and activation comparison behind `bend lab` and `bend compare`.
#include "bend/lab/claims.hpp"
#include "bend/lab/collapse.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/dying_relu.hpp"
#include "bend/lab/experiments.hpp"
#include "bend/lab/guide.hpp"
#include "bend/lab/vanishing.hpp"
#include "bend/lab/xor.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"
#include "bend/plot/terminal_image.hpp"
