define internal float @bf16_to_f32(i16 %b) #0 {
  %w = zext i16 %b to i32
  %s = shl i32 %w, 16
  %f = bitcast i32 %s to float
  ret float %f
}
define internal i16 @f32_to_bf16(float %f) #0 {
  %u = bitcast float %f to i32
  %a = and i32 %u, 2147483647
  %isnan = icmp ugt i32 %a, 2139095040
  %h = lshr i32 %u, 16
  %nan = or i32 %h, 64
  %lsb = and i32 %h, 1
  %r0 = add i32 %u, 32767
  %r1 = add i32 %r0, %lsb
  %r = lshr i32 %r1, 16
  %res = select i1 %isnan, i32 %nan, i32 %r
  %t = trunc i32 %res to i16
  ret i16 %t
}
attributes #0 = { alwaysinline nounwind }

attributes #1 = { nounwind "frame-pointer"="none" }
define void @rowsum_0(ptr %p0, ptr %p1, i32 %start, i32 %end) #1 {
entry:
  %l4.addr = alloca i32
  %acc6 = alloca float
  %l7.addr = alloca i32
  br label %body0
body0:
  store i32 %start, ptr %l4.addr
  br label %head4
head4:
  %l4 = load i32, ptr %l4.addr
  %cond4 = icmp slt i32 %l4, %end
  br i1 %cond4, label %loop4, label %exit4
loop4:
  %t1 = mul i32 %l4, 48
  store float 0x0000000000000000, ptr %acc6
  store i32 0, ptr %l7.addr
  br label %head7
head7:
  %l7 = load i32, ptr %l7.addr
  %cond7 = icmp slt i32 %l7, 48
  br i1 %cond7, label %loop7, label %exit7
loop7:
  %t2 = add i32 %t1, %l7
  %t4 = getelementptr inbounds float, ptr %p1, i32 %t2
  %t3 = load float, ptr %t4
  %t6 = load float, ptr %acc6
  %t7 = fadd float %t6, %t3
  store float %t7, ptr %acc6
  %t8 = add nsw i32 %l7, 1
  store i32 %t8, ptr %l7.addr
  br label %head7
exit7:
  %t9 = load float, ptr %acc6
  %t11 = getelementptr inbounds float, ptr %p0, i32 %l4
  store float %t9, ptr %t11
  %t12 = add nsw i32 %l4, 1
  store i32 %t12, ptr %l4.addr
  br label %head4
exit4:
  ret void
}
