// Futures positions in an account (riskoffset.accounts.equity): the P&L of a position at a mark and what a fill
// does to a position.  The one implementation the account view, the live engine's refresh and its trades run.
#pragma once
#include <cmath>
#include <limits>

namespace riskoffset {

// Unrealised P&L of a futures position: inverse (amount in USD face) amount x (1/average - 1/mark) coins,
// linear amount x (mark - average).
inline double futures_pnl(double amount, double average, double mark, bool inverse) {
  return inverse ? amount * (1.0 / average - 1.0 / mark) : amount * (mark - average);
}

struct FuturesFill {
  double average;   // the position's average entry price after the fill (NaN when it is closed)
  double realised;  // P&L the closed part realises, in the settlement currency
};

// A fill of `quantity` at `price` on a position of `held` bought at `average`.  Adding averages the entry
// price, in 1 / price for inverse contracts (their amount is USD face) and in price for linear ones; closing
// realises futures_pnl on the closed amount at `price`; a fill through zero closes all and opens the rest at
// `price`.  Example (inverse): 10,000 USD at 40,000 plus 10,000 at 60,000 averages 1 / ((1/40,000 + 1/60,000)
// / 2) = 48,000; selling 5,000 at 50,000 then realises 5,000 x (1/48,000 - 1/50,000) = 0.0041667 BTC.
inline FuturesFill futures_fill(double held, double average, double quantity, double price, bool inverse) {
  const double after = held + quantity;
  if (held == 0.0 || (held > 0) == (quantity > 0)) {  // opening or adding
    if (held == 0.0) return {price, 0.0};
    return {inverse ? after / (held / average + quantity / price) : (held * average + quantity * price) / after, 0.0};
  }
  const double closed = std::fabs(quantity) <= std::fabs(held) ? -quantity : held;
  const double realised = futures_pnl(closed, average, price, inverse);
  if (after == 0.0) return {std::numeric_limits<double>::quiet_NaN(), realised};
  if ((after > 0) != (held > 0)) return {price, realised};  // through zero: the rest opens at the fill price
  return {average, realised};
}

}  // namespace riskoffset
