// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

interface IERC20From {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title Moves tokens between many wallets that approved it, in one transaction.
/// @notice For tests that need thousands of wallet-to-wallet transfers: each move is a
/// `Transfer` log emitted by its token with `from` = the wallet (as if the wallet had sent
/// it), at the cost of one transaction for the lot. Moves run in the order given.
contract Router {
    function moves(
        IERC20From[] calldata tokens,
        address[] calldata from,
        address[] calldata to,
        uint256[] calldata amounts
    ) external {
        require(
            tokens.length == from.length && from.length == to.length && to.length == amounts.length,
            "length mismatch"
        );
        for (uint256 i = 0; i < from.length; i++) {
            require(tokens[i].transferFrom(from[i], to[i], amounts[i]), "transfer failed");
        }
    }
}
